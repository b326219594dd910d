export {
  eventStoreContractSuite,
  type ContractStore,
  type ContractStoreFactory,
  type ContractStoreOptions,
} from './contract-suite';
