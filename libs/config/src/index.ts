export { ConfigError, loadConfig, describeConfig, CommonConfig, NatsConfig, DatabaseConfig, S3Config, httpPort, type ConfigSpec } from './config';
