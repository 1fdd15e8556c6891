-- Reports follow each ticket through its events (issue, calls, start,
-- finish): find a ticket's events without scanning its center's log.
CREATE INDEX events_ticket ON events (center, (body -> 'ticket'), seq);
