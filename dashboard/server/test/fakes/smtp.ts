// Moved to test-support: the demo runs these local providers too.
export * from '@tamky/test-support/fakes';
