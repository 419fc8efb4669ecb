/**
 * Buffers for large response frames, handed back by their users and reused (BrokerConnection's
 * sendFrame). On this kind of VM a fresh multi-megabyte allocation costs far more than filling
 * it (page faults): measured in bench/mirror.ts --profile, assembling fresh fetch frames was a
 * quarter of the mirror's CPU. Holds at most freeBytesMax of free buffers (more are left to the
 * garbage collector); buffers in use are their users' (who bound them by their own limits).
 */
export class FramePool {
  private free: Buffer[] = [];
  private freeBytes = 0;
  /** Frames smaller than this are allocated as usual. */
  readonly minBytes = 1024 * 1024;

  constructor(private readonly freeBytesMax: number) {}

  /** A buffer of exactly `size` bytes (a view of a pooled one), and how to hand it back (once). */
  take(size: number): { frame: Buffer; release: () => void } {
    // Best fit among the free buffers no more than twice as large; else a new one, rounded up
    // to whole MiB so that buffers fit frames of slightly different sizes later.
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.length >= size && b.length <= 2 * size && (best < 0 || b.length < this.free[best]!.length)) best = i;
    }
    let whole: Buffer;
    if (best >= 0) {
      whole = this.free[best]!;
      this.free.splice(best, 1);
      this.freeBytes -= whole.length;
    } else {
      whole = Buffer.allocUnsafeSlow(Math.ceil(size / this.minBytes) * this.minBytes);
    }
    let released = false;
    return {
      frame: whole.subarray(0, size),
      release: () => {
        if (released) return;
        released = true;
        if (this.freeBytes + whole.length > this.freeBytesMax) return;
        this.free.push(whole);
        this.freeBytes += whole.length;
      },
    };
  }

  get freeBuffers(): number {
    return this.free.length;
  }
}
