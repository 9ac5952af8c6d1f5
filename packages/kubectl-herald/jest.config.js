import { jestProject } from '@herald/testing/jest-preset';

export default jestProject('@herald/kubectl-herald');
