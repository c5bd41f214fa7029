/** Runs the SessionRepository compliance suite against the in-memory and the sqlite implementation. */
import { sessionRepositoryCompliance } from './sessions-compliance.ts';
import { SUBJECTS } from './subjects.ts';

for (const [name, make] of SUBJECTS) sessionRepositoryCompliance(name, make);
