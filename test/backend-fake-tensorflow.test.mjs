// The backend-independent tests (backend-suite.mjs) on a backend named 'tensorflow' that
// runs the cpu kernels (fake-native.mjs), so that code keyed on that name runs somewhere.
import { backendSuite } from './backend-suite.mjs';

await backendSuite('fake-tensorflow');
