export { startJournalService } from './service';
export { journalServiceConfigSpec, loadJournalServiceConfig, type JournalServiceConfig } from './config';
