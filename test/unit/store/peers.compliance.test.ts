/** Runs the PeerRepository compliance suite against the in-memory and the sqlite implementation. */
import { peerRepositoryCompliance } from './peers-compliance.ts';
import { SUBJECTS } from './subjects.ts';

for (const [name, make] of SUBJECTS) peerRepositoryCompliance(name, make);
