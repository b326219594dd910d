export {
  eventStoreContractSuite,
  type ContractStore,
  type ContractStoreFactory,
  type ContractStoreOptions,
} from './contract-suite';
export { startTcpProxy, type TcpProxy } from './tcp-proxy';
