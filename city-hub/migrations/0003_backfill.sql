-- Backfill from the kiosk's day export (GET /api/v1/days/{day}/export) for
-- the service days a stream gap lost.
--
-- `stream_gaps.resumed_at` is the last sequence the kiosk no longer keeps:
-- the stream resumes after it. `filled` is set once every day the gap
-- touched was fetched.
ALTER TABLE stream_gaps ADD COLUMN filled timestamptz;

-- The service days whose figures come from the export instead of events:
-- `tickets` (every kept ticket of the day, full figures except ratings) or
-- `summaries` (only per-department counts and waiting/service p90, max and
-- mean: the kiosk had pruned the day's tickets too). The events of such a
-- day, if any arrived before the gap, are not used by reports.
CREATE TABLE backfilled_days (
    center  text NOT NULL,
    day     text NOT NULL,
    source  text NOT NULL CHECK (source IN ('tickets', 'summaries')),
    fetched timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (center, day)
);

-- The tickets of a `tickets` day, as the kiosk exported them.
CREATE TABLE day_tickets (
    center text   NOT NULL,
    day    text   NOT NULL,
    id     bigint NOT NULL,
    body   jsonb  NOT NULL,
    PRIMARY KEY (center, day, id)
);

-- The per-department summaries of a `summaries` day.
CREATE TABLE day_summaries (
    center     text  NOT NULL,
    day        text  NOT NULL,
    department text  NOT NULL,
    body       jsonb NOT NULL,
    PRIMARY KEY (center, day, department)
);
