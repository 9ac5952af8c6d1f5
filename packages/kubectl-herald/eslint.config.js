export { default } from '@herald/eslint-config';
