/** Runs the MessageRepository compliance suite against the in-memory and the sqlite implementation. */
import { messageRepositoryCompliance } from './messages-compliance.ts';
import { SUBJECTS } from './subjects.ts';

for (const [name, make] of SUBJECTS) messageRepositoryCompliance(name, make);
