export * from './workflow/dag';
export * from './workflow/analysis';
