import './instrument';
import { serviceMain } from '@tidemark/platform';
import { loadJournalServiceConfig } from './config';
import { startJournalService } from './service';

serviceMain('journal-service', loadJournalServiceConfig, (config) => startJournalService(config));
