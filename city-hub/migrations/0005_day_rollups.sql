-- Day rollups: each (center, service day)'s report figures merged ahead
-- per grouping, so a month's report reads a few rows per center-day
-- instead of every ticket's facts (rollup.rs).
--
-- `dimension` is the grouping a row serves: `day` (one row per center-day,
-- key '': reports by center and by day), `department`, `officer` (the
-- caller of a ticket or stay, the officer of a rating; facts without one
-- are not in it) or `hour` (local hour of issue). A row holds the sums,
-- the exact distributions of waiting and service seconds (every distinct
-- second with its count, packed as rollup.rs says) and ratings per level.
CREATE TABLE day_rollups (
    dimension text   NOT NULL CHECK (dimension IN ('day', 'department', 'officer', 'hour')),
    day       text   NOT NULL,
    center    text   NOT NULL,
    key       text   NOT NULL,
    issued    bigint NOT NULL,
    served    bigint NOT NULL,
    no_show   bigint NOT NULL,
    waiting   bytea  NOT NULL,
    service   bytea  NOT NULL,
    ratings   jsonb  NOT NULL,
    PRIMARY KEY (dimension, day, center, key)
);
CREATE INDEX day_rollups_center_day ON day_rollups (center, day);

-- The center-days whose rollups may no longer match their facts: marked by
-- a backfill in its transaction, and by resolving `rollup_marks`.
-- `version` grows at each marking, so a rebuild clears only the marking it
-- read.
CREATE TABLE rollup_stale (
    center  text   NOT NULL,
    day     text   NOT NULL,
    version bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (center, day)
);

-- Per center, the sequences written since its marks were last resolved:
-- one upsert per ingest batch, in the batch's transaction.
CREATE TABLE rollup_marks (
    center    text   PRIMARY KEY,
    first_seq bigint NOT NULL,
    last_seq  bigint NOT NULL,
    version   bigint NOT NULL DEFAULT 1
);

-- Every day the hub already holds is stale; the hub builds their rollups
-- right after this file, in the same transaction (db.rs).
INSERT INTO rollup_stale (center, day)
SELECT center, day FROM ticket_facts
 UNION SELECT center, day FROM stay_facts
 UNION SELECT center, day FROM rating_facts;
