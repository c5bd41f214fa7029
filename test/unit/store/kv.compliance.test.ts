/** Runs the KeyValueRepository compliance suite against the in-memory and the sqlite implementation. */
import { keyValueRepositoryCompliance } from './kv-compliance.ts';
import { SUBJECTS } from './subjects.ts';

for (const [name, make] of SUBJECTS) keyValueRepositoryCompliance(name, make);
