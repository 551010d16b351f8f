// Every export here becomes a workflow type the worker registers; helpers live in other modules.
export { enrollmentWorkflow } from './enrollment';
export { accessWorkflow } from './access';
export { reconcileWorkflow } from './reconcile';
