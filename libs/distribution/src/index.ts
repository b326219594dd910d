export * from './workflow/dag';
