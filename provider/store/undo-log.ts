/**
 * What one store operation has changed so far, so that a write failing half-way (a full disk, a
 * read-only remount) leaves the store as it was: no version that history does not record, no
 * deployment link swapped without its history line. Undo steps only rename, unlink and truncate,
 * which need no free space, and run in reverse order while the store lock is still held, so no
 * other process sees the half-done change. Clean-ups (removing what the operation moved aside)
 * run only once the whole operation succeeded.
 */
export class UndoLog {
  private readonly undoSteps: Array<() => Promise<void>> = [];
  private readonly cleanups: Array<() => Promise<void>> = [];
  /** The first undo step that failed: the store may then not be as it was, and the error says so. */
  undoFailure: unknown;

  onUndo(step: () => Promise<void>): void {
    this.undoSteps.push(step);
  }

  onSuccess(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  async undo(): Promise<void> {
    for (const step of this.undoSteps.reverse()) {
      try {
        await step();
      } catch (error) {
        // Keep going: every step undone is one thing fewer left over. The error the operation
        // failed with stays what the caller sees; this one is reported alongside it.
        this.undoFailure ??= error;
      }
    }
  }

  async succeeded(): Promise<void> {
    for (const cleanup of this.cleanups) {
      // The change itself stands, so a failed clean-up must not fail it. What is left does no
      // harm: a moved-aside directory is swept by the next createVersion or createCertificate, a
      // kept hard link is a dot-file nothing reads.
      await cleanup().catch(() => undefined);
    }
  }
}
