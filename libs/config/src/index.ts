export { ConfigError, loadConfig, describeConfig, CommonConfig, NatsConfig, DatabaseConfig, S3Config, AuthConfig, httpPort, httpTimeouts, type ConfigSpec } from './config';
