// The backend-independent tests (backend-suite.mjs) on tfjs's pure-JavaScript cpu backend.
import { backendSuite } from './backend-suite.mjs';

await backendSuite('cpu');
