package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// checkpointer copies a large transaction's pages from SQLite's write-ahead
// log into the database file after the transaction has committed, on a
// connection of its own, rather than inside its COMMIT. SQLite's automatic
// checkpoint runs in the COMMIT of whichever transaction takes the log past
// 1,000 pages: after a sync's transaction, that COMMIT copied every page
// it wrote and synced the file — 3.6 s of a 20 s delta of a million
// objects, waiting on the disk. A PASSIVE checkpoint reads what is
// committed and never blocks the writer or the readers; until it has run,
// readers find the pages in the log, as they do after any commit.
// Transactions that ask for it (Tx.checkpointAfter) commit with the
// automatic checkpoint off; every other write keeps it.
type checkpointer struct {
	s    *Store
	log  *slog.Logger
	kick chan struct{} // a checkpoint is wanted; buffered: requests coalesce
	// asked counts the requests; served is the count the last finished
	// checkpoint had seen when it began (Checkpointed waits for it).
	asked, served atomic.Int64
	cancel        context.CancelFunc
	done          sync.WaitGroup
	// frames is what the last checkpoint copied, and hold, when set, is
	// waited on before each (tests).
	frames atomic.Int64
	hold   chan struct{}
}

// autoCheckpoint is SQLite's automatic checkpoint threshold, in pages: its
// default, which the writer keeps outside the transactions that defer it
// (autoCheckpointOn sets it again).
const (
	autoCheckpoint   = 1000
	autoCheckpointOn = "PRAGMA wal_autocheckpoint = 1000"
)

func newCheckpointer(s *Store, log *slog.Logger) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{s: s, log: log, kick: make(chan struct{}, 1), cancel: cancel}
	c.done.Add(1)
	go c.run(ctx)
	return c
}

// want asks for a checkpoint once the transactions before it have committed.
func (c *checkpointer) want() {
	c.asked.Add(1)
	select {
	case c.kick <- struct{}{}:
	default: // one is asked for already
	}
}

func (c *checkpointer) run(ctx context.Context) {
	defer c.done.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		}
		if c.hold != nil {
			select {
			case <-ctx.Done():
				return
			case <-c.hold:
			}
		}
		start := time.Now()
		asked := c.asked.Load()
		var busy, logFrames, copied int64
		err := c.s.r.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &copied)
		if ctx.Err() != nil {
			return // closing: the last connection's close checkpoints
		}
		c.served.Store(asked)
		if err != nil {
			c.log.Warn("store: unable to checkpoint the write-ahead log", "err", err)
			continue
		}
		c.frames.Store(copied)
		if copied >= autoCheckpoint {
			c.log.Info("store: checkpointed the write-ahead log", "frames", copied, "of", logFrames, "took", time.Since(start).Round(time.Millisecond))
		}
	}
}

// Checkpointed waits until the checkpoints asked for so far have run (a
// benchmark measuring what follows a sync, without its checkpoint beside
// it). It returns at once on a store without a checkpointer.
func (s *Store) Checkpointed(ctx context.Context) error {
	if s.ckpt == nil {
		return nil
	}
	want := s.ckpt.asked.Load()
	for s.ckpt.served.Load() < want {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// stop ends the checkpointer, interrupting a checkpoint under way.
func (c *checkpointer) stop() {
	c.cancel()
	c.done.Wait()
}

// commitDeferred commits t with SQLite's automatic checkpoint off on the
// writer's connection, then turns it on again and asks the checkpointer
// for the log's pages. The writer pool holds one connection, so the
// statements around the commit run on the transaction's own. Once the
// commit has succeeded, the transaction's work is done whatever follows:
// an automatic checkpoint that does not turn on again is logged, not
// returned (the checkpointer still copies this commit's pages).
func (s *Store) commitDeferred(ctx context.Context, t *Tx) error {
	if _, err := t.tx.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 0"); err != nil {
		_ = t.tx.Rollback()
		return fmt.Errorf("store: unable to defer the checkpoint: %w", err)
	}
	err := t.tx.Commit()
	if _, rerr := s.w.ExecContext(context.WithoutCancel(ctx), autoCheckpointOn); rerr != nil {
		s.ckpt.log.Warn("store: unable to turn the automatic checkpoint on again", "err", rerr)
	}
	if err != nil {
		return err
	}
	s.ckpt.want()
	return nil
}
