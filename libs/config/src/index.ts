export { ConfigError, loadConfig, describeConfig, CommonConfig, NatsConfig, DatabaseConfig, S3Config, AuthConfig, httpPort, type ConfigSpec } from './config';
