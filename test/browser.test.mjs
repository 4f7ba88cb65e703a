// The exported web page in headless Chromium, opened from disk (file://) as a user's
// double-click opens it: it loads the model with TensorFlow.js from its local tf.min.js
// and model.js, predicts what our engine predicts, and a
// click on Generate writes text. Takes a screenshot: into the test's temp directory, or to
// CHARRNN_SCREENSHOT if set (how docs/export-page.png was made), never into the repository.
// Skips (does not fail) where Chromium is not installed: CHROMIUM_PATH, else /usr/bin/chromium.
// Talks to Chromium over its DevTools pipe (--remote-debugging-pipe): no extra npm package.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { loadCheckpoint } from '../dist/checkpoint/checkpoint.js';
import { TRAIN_DEFAULTS } from '../dist/training/config.js';
import { readCorpus } from '../dist/data/corpus.js';
import { writeLayersModel } from '../dist/export/layers-model.js';
import { writeWebPage } from '../dist/export/web-page.js';
import { startingContext } from '../dist/sampling/sampler.js';
import { train } from '../dist/training/trainer.js';
import { TINY_CORPUS, useBackend, workDir } from './helpers.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM)
  ? false
  : `Chromium not found at ${CHROMIUM} (install it: apt-get install -y chromium, or set CHROMIUM_PATH)`;

test(
  'the exported page loads in Chromium, matches our probabilities, and generates text on a click',
  { skip, timeout: 60_000 },
  async () => {
    const tf = await useBackend('wasm');
    const dir = workDir('browser');
    const corpus = readCorpus(TINY_CORPUS);
    const config = {
      ...TRAIN_DEFAULTS,
      cell: 'gru',
      hidden: 48,
      layers: 2,
      seq: 32,
      batch: 16,
      lr: 1e-2,
      maxSteps: 80,
      evalEvery: 80,
      saveEvery: 80,
      valFrac: 0.1,
    };
    await train({ corpus, config, outDir: join(dir, 'run'), backend: 'wasm', threads: 2 });
    const checkpoint = loadCheckpoint(join(dir, 'run'));
    const site = join(dir, 'site');
    await writeLayersModel(checkpoint, site);
    writeWebPage(site, 'charrnn: tiny corpus (2×48 GRU)');

    const browser = await Chromium.launch();
    try {
      const page = await browser.newPage(900, 720);
      await page.navigate(pathToFileURL(join(site, 'index.html')).href);
      const status = await page.evaluate('window.charrnn.ready.then(() => document.getElementById("status").textContent)');
      assert.match(status, /^ready \(tfjs 4\.22\.0/);

      // The page's tfjs gives our engine's next-character probabilities.
      /** Our engine's next-character probabilities (V) after reading `text` from zero state. */
      const engineProbabilities = (text) =>
        tf.tidy(() => {
          const { logits, final } = checkpoint.model.forward(
            tf.tensor1d(checkpoint.vocab.encode(text), 'int32'),
            checkpoint.model.initialState(1),
          );
          tf.dispose(final.flat());
          return Array.from(
            tf
              .softmax(logits)
              .slice([[...text].length - 1, 0], [1, -1])
              .dataSync(),
          );
        });
      const probe = corpus.text.slice(300, 340);
      const theirs = await page.evaluate(`window.charrnn.probabilities(${JSON.stringify(probe)})`);
      const ours = engineProbabilities(probe);
      const diff = Math.max(...ours.map((p, k) => Math.abs(p - theirs[k])));
      assert.ok(diff < 1e-5, `browser vs engine: max |Δp| = ${diff}`);
      const stepped = await page.evaluate(`window.charrnn.steppedProbabilities(${JSON.stringify(probe)})`); // Generate's stateful path
      const steppedDiff = Math.max(...ours.map((p, k) => Math.abs(p - stepped[k])));
      assert.ok(steppedDiff < 1e-5, `browser one step at a time vs engine: max |Δp| = ${steppedDiff}`);

      // Without a prime the page reads, unshown, what charrnn sample reads without --prime: a newline here.
      assert.equal(startingContext(checkpoint.vocab, checkpoint.meta.training.corpus.counts), '\n');
      const unprimed = await page.evaluate('window.charrnn.primedProbabilities("")');
      const afterNewline = engineProbabilities('\n');
      const unprimedDiff = Math.max(...afterNewline.map((p, k) => Math.abs(p - unprimed[k])));
      assert.ok(unprimedDiff < 1e-5, `browser without a prime vs engine after a newline: max |Δp| = ${unprimedDiff}`);
      const primed = await page.evaluate('window.charrnn.primedProbabilities("The ")');
      const primedDiff = Math.max(...engineProbabilities('The ').map((p, k) => Math.abs(p - primed[k])));
      assert.ok(primedDiff < 1e-5, `browser after its prime vs engine: max |Δp| = ${primedDiff}`);

      await page.evaluate('document.getElementById("length").value = "160"');
      await page.click('#generate');
      const done = await page.waitFor(
        'document.getElementById("status").textContent.startsWith("done") && document.getElementById("status").textContent',
        30_000,
      );
      assert.match(done, /^done: 160 characters/);
      const output = await page.evaluate('document.getElementById("output").textContent');
      assert.ok(output.startsWith('The '), output);
      assert.equal([...output].length, 4 + 160);
      assert.ok(
        [...output].every((ch) => checkpoint.vocab.chars.includes(ch)),
        'only vocabulary characters',
      );

      const screenshot = process.env.CHARRNN_SCREENSHOT ?? join(dir, 'export-page.png');
      mkdirSync(join(screenshot, '..'), { recursive: true });
      const png = await page.screenshot();
      assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG screenshot');
      writeFileSync(screenshot, png);

      // Generate without a prime: only the generated characters are shown.
      await page.evaluate('document.getElementById("prime").value = ""; document.getElementById("length").value = "20"');
      await page.click('#generate');
      await page.waitFor('document.getElementById("status").textContent.startsWith("done: 20 ")', 30_000);
      const unprimedOutput = await page.evaluate('document.getElementById("output").textContent');
      assert.equal([...unprimedOutput].length, 20, unprimedOutput);
    } finally {
      await browser.close();
      checkpoint.model.dispose();
    }
  },
);

/** Just enough of the Chrome DevTools Protocol, over the pipe on fds 3 (to Chromium) and 4 (from it). */
class Chromium {
  static async launch() {
    const args = [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--remote-debugging-pipe',
      'about:blank',
    ];
    const child = spawn(CHROMIUM, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr = (stderr + d).slice(-2000)));
    return new Chromium(child, () => stderr);
  }

  constructor(child, stderr) {
    this.child = child;
    this.stderr = stderr;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = [];
    let buffer = '';
    child.stdio[4].setEncoding('utf8').on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\0')) >= 0) {
        const message = JSON.parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 1);
        if (message.id !== undefined) {
          const { resolve, reject } = this.pending.get(message.id);
          this.pending.delete(message.id);
          if (message.error) reject(new Error(`${message.error.message} (${JSON.stringify(message.error.data ?? '')})`));
          else resolve(message.result);
        } else {
          for (const listener of this.listeners) listener(message);
        }
      }
    });
    this.exited = new Promise((resolve) => child.on('exit', resolve));
    child.on('exit', () => {
      for (const { reject } of this.pending.values()) reject(new Error(`Chromium exited: ${this.stderr()}`));
    });
  }

  send(method, params = {}, sessionId) {
    const id = this.nextId++;
    this.child.stdio[3].write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  async newPage(width, height) {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    const call = (method, params) => this.send(method, params, sessionId);
    await call('Page.enable');
    await call('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    const browser = this;
    return {
      async navigate(url) {
        const loaded = new Promise((resolve) =>
          browser.listeners.push((m) => m.sessionId === sessionId && m.method === 'Page.loadEventFired' && resolve()),
        );
        await call('Page.navigate', { url });
        await loaded;
      },
      async evaluate(expression) {
        const { result, exceptionDetails } = await call('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
        if (exceptionDetails) throw new Error(`in the page: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
        return result.value;
      },
      async waitFor(expression, timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const value = await this.evaluate(expression);
          if (value) return value;
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      },
      /** A real mouse click in the middle of the element. */
      async click(selector) {
        const box = await this.evaluate(`JSON.stringify(document.querySelector(${JSON.stringify(selector)}).getBoundingClientRect())`);
        const { x, y, width, height } = JSON.parse(box);
        const at = { x: x + width / 2, y: y + height / 2, button: 'left', clickCount: 1 };
        await call('Input.dispatchMouseEvent', { type: 'mouseMoved', ...at });
        await call('Input.dispatchMouseEvent', { type: 'mousePressed', ...at });
        await call('Input.dispatchMouseEvent', { type: 'mouseReleased', ...at });
      },
      async screenshot() {
        const { data } = await call('Page.captureScreenshot', { format: 'png' });
        return Buffer.from(data, 'base64');
      },
    };
  }

  async close() {
    this.send('Browser.close').catch(() => {});
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
