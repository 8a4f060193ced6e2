export { ConfigError, loadConfig, describeConfig, CommonConfig, NatsConfig, DatabaseConfig, S3Config, AuthConfig, CorsConfig, httpPort, type ConfigSpec } from './config';
