/** Runs the OutboxRepository compliance suite against the in-memory and the sqlite implementation. */
import { outboxRepositoryCompliance } from './outbox-compliance.ts';
import { SUBJECTS } from './subjects.ts';

for (const [name, make] of SUBJECTS) outboxRepositoryCompliance(name, make);
