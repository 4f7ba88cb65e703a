// Unit tests for reading corpora (dist/data/corpus.js) and the code-point vocabulary (dist/data/vocab.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCorpus, firstInvalidUtf8Offset, splitIds } from '../dist/data/corpus.js';
import { Vocabulary } from '../dist/data/vocab.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'charrnn-corpus-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** Writes bytes (a Buffer, or a string taken as UTF-8) to a fresh file and returns its path. */
let fileCount = 0;
function file(content) {
  const p = path.join(tmp, `f${fileCount++}.txt`);
  fs.writeFileSync(p, content);
  return p;
}

/** Bytes from a string whose characters are all < 256 (so '\xff' is the byte 0xff). */
const bytes = (s) => Buffer.from(s, 'latin1');

// ---------------------------------------------------------------- Vocabulary

test('vocabulary round-trips emoji, CJK and combining marks', () => {
  const text = 'Hi 👍🏽 漢字 café e\u0301 — ok\n👍';
  const vocab = Vocabulary.fromText(text);
  const ids = vocab.encode(text);
  assert.equal(vocab.decode(ids), text);
  assert.equal(ids.length, [...text].length, 'one id per code point');
  for (const id of ids) assert.ok(id >= 0 && id < vocab.size);
});

test('an emoji is one vocabulary entry: code points, not UTF-16 units', () => {
  const thumbs = Vocabulary.fromText('👍');
  assert.equal('👍'.length, 2, 'a surrogate pair in UTF-16');
  assert.equal(thumbs.size, 1);
  assert.deepEqual([...thumbs.chars], ['👍']);
  assert.deepEqual([...thumbs.encode('👍👍')], [0, 0]);

  // 👍🏽 is two code points (thumbs up + skin-tone modifier), four UTF-16 units.
  const toned = Vocabulary.fromText('👍🏽');
  assert.equal(toned.size, 2);
  assert.ok(toned.chars.every((ch) => [...ch].length === 1 && ch.codePointAt(0) > 0xffff));
  assert.ok(!toned.chars.some((ch) => ch.length === 1 && /[\ud800-\udfff]/.test(ch)), 'no lone surrogates');

  const cjk = Vocabulary.fromText('漢字漢');
  assert.equal(cjk.size, 2);
  assert.equal(cjk.decode(cjk.encode('字漢')), '字漢');

  // A combining mark is a code point of its own: e + U+0301.
  const combining = Vocabulary.fromText('e\u0301');
  assert.equal(combining.size, 2);
  assert.ok(combining.has('\u0301'));
});

test('vocabulary is sorted by code point, with no duplicates', () => {
  const vocab = Vocabulary.fromText('😀baé a\uffff');
  const points = vocab.chars.map((c) => c.codePointAt(0));
  assert.deepEqual(
    points,
    [...points].sort((x, y) => x - y),
  );
  assert.equal(new Set(vocab.chars).size, vocab.size);
  // U+FFFF sorts before U+1F600 by code point (a UTF-16 sort would put the emoji first).
  assert.ok(vocab.chars.indexOf('\uffff') < vocab.chars.indexOf('😀'));
});

test('unknownChars lists each unseen character once, in order of appearance', () => {
  const vocab = Vocabulary.fromText('abc 👍');
  assert.deepEqual(vocab.unknownChars('abc'), []);
  assert.deepEqual(vocab.unknownChars(''), []);
  assert.deepEqual(vocab.unknownChars('xa€x€ 👍🏽漢'), ['x', '€', '🏽', '漢']);
  assert.equal(vocab.has('👍'), true);
  assert.equal(vocab.has('\ud83d'), false, 'half a surrogate pair is not a character of the vocabulary');
});

test('encode throws on a character outside the vocabulary', () => {
  const vocab = Vocabulary.fromText('ab');
  assert.throws(() => vocab.encode('abc'), /"c"/);
});

// ---------------------------------------------------------------- firstInvalidUtf8Offset

test('firstInvalidUtf8Offset: invalid bytes in the middle of the text', () => {
  assert.equal(firstInvalidUtf8Offset(bytes('Hello \xff\xfe world')), 6);
  assert.equal(firstInvalidUtf8Offset(bytes('\x80abc')), 0, 'a continuation byte with no lead');
  // Valid multi-byte characters before the bad byte count in bytes, not characters.
  const prefix = Buffer.from('漢字 ');
  assert.equal(firstInvalidUtf8Offset(Buffer.concat([prefix, bytes('\xff')])), prefix.length);
});

test('firstInvalidUtf8Offset: a multi-byte sequence truncated at the end points at its lead byte', () => {
  assert.equal(firstInvalidUtf8Offset(bytes('abc\xe2\x82')), 3); // € is e2 82 ac
  assert.equal(firstInvalidUtf8Offset(bytes('a\xf0\x9f\x98')), 1); // 😀 is f0 9f 98 80
  assert.equal(firstInvalidUtf8Offset(bytes('\xe2')), 0);
});

test('firstInvalidUtf8Offset: overlong encodings and surrogates are invalid', () => {
  assert.equal(firstInvalidUtf8Offset(bytes('ab\xc0\xaf')), 2); // overlong '/'
  assert.equal(firstInvalidUtf8Offset(bytes('ab\xc1\xbf')), 2);
  // An encoded surrogate (ed a0 80): invalid from the byte after ed at the latest.
  const surrogate = firstInvalidUtf8Offset(bytes('ok\xed\xa0\x80'));
  assert.ok(surrogate === 2 || surrogate === 3, `got ${surrogate}`);
});

test('firstInvalidUtf8Offset: a Latin-1 letter followed by ASCII is reported at the letter', () => {
  assert.equal(firstInvalidUtf8Offset(bytes('caf\xe9s')), 3); // é in Latin-1
  assert.equal(firstInvalidUtf8Offset(bytes('x\xe2\x82y')), 1); // truncated € before ASCII
});

// ---------------------------------------------------------------- readCorpus

test('readCorpus reads plain UTF-8 with no notes, and fingerprints the bytes', () => {
  const p = file('hello 👍\nworld\n');
  const c = readCorpus(p);
  assert.equal(c.text, 'hello 👍\nworld\n');
  assert.equal(c.path, p);
  assert.equal(c.bytes, Buffer.byteLength('hello 👍\nworld\n'));
  assert.deepEqual(c.notes, []);
  assert.match(c.fingerprint, /^[0-9a-f]{64}$/);
  assert.equal(readCorpus(file('hello 👍\nworld\n')).fingerprint, c.fingerprint);
  assert.notEqual(readCorpus(file('hello 👍\nworld!\n')).fingerprint, c.fingerprint);
});

test('readCorpus strips a UTF-8 BOM and says so', () => {
  const c = readCorpus(file(Buffer.concat([bytes('\xef\xbb\xbf'), Buffer.from('abc\n')])));
  assert.equal(c.text, 'abc\n');
  assert.equal(c.bytes, 7);
  assert.equal(c.notes.length, 1);
  assert.match(c.notes[0], /byte-order mark|BOM/i);
});

test('readCorpus notes CRLF, CR-only and mixed line endings, keeping the text as written', () => {
  const crlf = readCorpus(file('one\r\ntwo\r\n'));
  assert.equal(crlf.text, 'one\r\ntwo\r\n');
  assert.equal(crlf.notes.length, 1);
  assert.match(crlf.notes[0], /CRLF/);

  const cr = readCorpus(file('one\rtwo\r'));
  assert.equal(cr.text, 'one\rtwo\r');
  assert.equal(cr.notes.length, 1);
  assert.match(cr.notes[0], /CR-only/);

  const mixed = readCorpus(file('one\r\ntwo\nthree\r'));
  assert.equal(mixed.notes.length, 1);
  assert.match(mixed.notes[0], /mixed/);

  assert.deepEqual(readCorpus(file('one\ntwo\n')).notes, []);
});

test('readCorpus: BOM and CRLF together give two notes', () => {
  const c = readCorpus(file(Buffer.concat([bytes('\xef\xbb\xbf'), Buffer.from('a\r\nb\r\n')])));
  assert.equal(c.text, 'a\r\nb\r\n');
  assert.equal(c.notes.length, 2);
  assert.ok(c.notes.some((n) => /byte-order mark|BOM/i.test(n)));
  assert.ok(c.notes.some((n) => /CRLF/.test(n)));
});

test('readCorpus refuses what is not text, exit code 3, naming the problem', () => {
  const refuses = (p, pattern, encoding) =>
    assert.throws(
      () => readCorpus(p, encoding),
      (err) => {
        assert.equal(err.name, 'CorpusError');
        assert.equal(err.exitCode, 3);
        assert.ok(!err.message.includes('\n'), 'one line');
        assert.match(err.message, pattern);
        return true;
      },
    );
  refuses(path.join(tmp, 'does-not-exist.txt'), /no such file/);
  refuses(tmp, /directory/);
  refuses(file(''), /empty/);
  refuses(file(bytes('abc\x00def')), /binary.*offset 3/);
  refuses(file(bytes('Hello \xff\xfe world')), /byte offset 6.*--encoding latin1/);
  refuses(file(bytes('\xef\xbb\xbf')), /no text/); // only a BOM
});

test('readCorpus with latin1 decodes every byte as one character', () => {
  const c = readCorpus(file(bytes('Hello \xff\xfe caf\xe9')), 'latin1');
  assert.equal(c.text, 'Hello ÿþ café');
  assert.equal(c.bytes, 13);
});

// ---------------------------------------------------------------- splitIds

test('splitIds holds out the last fraction as one contiguous block', () => {
  const ids = Int32Array.from({ length: 100 }, (_, k) => k);
  const { train, val } = splitIds(ids, 0.05);
  assert.equal(train.length + val.length, 100);
  assert.equal(val.length, 5);
  assert.deepEqual([...train], [...ids.slice(0, 95)]);
  assert.deepEqual([...val], [95, 96, 97, 98, 99]);

  const odd = splitIds(
    Int32Array.from({ length: 37 }, (_, k) => k),
    0.25,
  );
  assert.equal(odd.val.length, Math.floor(37 * 0.25));
  assert.deepEqual(
    [...odd.train, ...odd.val],
    Array.from({ length: 37 }, (_, k) => k),
    'order kept, nothing lost',
  );
  for (let k = 1; k < odd.val.length; k++) assert.equal(odd.val[k], odd.val[k - 1] + 1, 'contiguous');
  assert.equal(odd.val[0], odd.train[odd.train.length - 1] + 1, 'validation starts where training ends');
});

test('splitIds on a tiny input never loses characters', () => {
  for (let n = 0; n < 12; n++) {
    const ids = Int32Array.from({ length: n }, (_, k) => k);
    const { train, val } = splitIds(ids, 0.3);
    assert.equal(train.length + val.length, n);
    assert.deepEqual([...train, ...val], [...ids]);
  }
});
