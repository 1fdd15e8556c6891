-- Every event of every center, exactly once: the kiosk's sequence number is
-- unique per center, so (center, seq) is the key and a replay is a no-op.
CREATE TABLE events (
    center  text   NOT NULL,
    seq     bigint NOT NULL CHECK (seq > 0),
    at_ms   bigint NOT NULL,
    kind    text   NOT NULL,
    body    jsonb  NOT NULL,
    PRIMARY KEY (center, seq)
);

CREATE INDEX events_kind_at ON events (kind, at_ms);

-- Stretches of a center's log the hub could not get because the kiosk's
-- retention had removed them (the kiosk answered with a snapshot instead):
-- the day export backfills them.
CREATE TABLE stream_gaps (
    center     text   NOT NULL,
    after_seq  bigint NOT NULL,
    resumed_at bigint NOT NULL,
    noticed    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (center, after_seq)
);
