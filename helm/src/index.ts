export {
  chartDir,
  parseManifests,
  renderChart,
  renderChartText,
  repoRoot,
  runTool,
  templateArgs,
  ToolError,
  type Manifest,
  type RenderedObject,
  type RenderOptions,
} from './chart.js';
export { objectProblems, roundTripProblems, serializerType } from './validate.js';
export { shapeProblems, type Shape } from './crd-shapes.js';
export { renderK8sTree, writeK8sTree, k8sDir, generatedDirs } from './render-k8s.js';
