/** Placeholder so the package builds before its first module lands. */
export {};
