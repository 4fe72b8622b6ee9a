/**
 * Realistic journals for tests: the generator lives in src/journal/generate.ts
 * (the compiled benchmark needs it too); tests import it from here.
 */
export {
  buildRealisticJob,
  createRng,
  type GenerateJournalOptions,
  type GenerateJournalResult,
  generateJournal,
  TINY_DIFFICULTY,
  type WorkerExpectation,
} from '../../src/journal/generate.js';
