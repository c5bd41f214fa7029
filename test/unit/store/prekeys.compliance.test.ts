/** Runs the PrekeyPool / ReplayCache compliance suite against the in-memory reference and sqlite. */
import { prekeyPoolCompliance } from './prekeys-compliance.ts';
import { SUBJECTS } from './subjects.ts';

for (const [name, make] of SUBJECTS) prekeyPoolCompliance(name, make);
