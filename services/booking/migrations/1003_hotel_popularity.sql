-- Each hotel's popularity: its confirmed, not cancelled stays. Counted in the transaction that
-- confirms or cancels a booking (store::count_stay) and carried by booking.confirmed and
-- booking.cancelled, so the read models set it by version instead of counting bookings
-- themselves. `version` grows with every change and is at least the change's time in
-- microseconds since the epoch (see tripnest_common::saga::Popularity).
CREATE TABLE hotel_popularity (
    hotel_id text   PRIMARY KEY REFERENCES hotels (id),
    stays    bigint NOT NULL,
    version  bigint NOT NULL
);

-- The bookings confirmed before this table, counted once.
INSERT INTO hotel_popularity (hotel_id, stays, version)
SELECT hotel_id, count(*), (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
FROM bookings WHERE status = 'CONFIRMED' GROUP BY hotel_id;
