export {
  FakeGateway,
  problem,
  type FakeResponse,
  type Interceptor,
  type RecordedReport,
  type RecordedRequest,
} from './fake-gateway';
