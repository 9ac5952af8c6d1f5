// A relative import: @herald/testing depends on this package, so this one cannot list it.
import { jestProject } from '../testing/jest-preset.js';

export default jestProject('@herald/embedded');
