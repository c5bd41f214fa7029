/** Runs the ContactRepository compliance suite against the in-memory and the sqlite implementation. */
import { contactRepositoryCompliance } from './contacts-compliance.ts';
import { SUBJECTS } from './subjects.ts';

for (const [name, make] of SUBJECTS) contactRepositoryCompliance(name, make);
