export { PostgresEventStore, type PostgresEventStoreOptions } from './postgres-event-store';
export { migrate, migrations, type Migration } from './migrations';
