-- Stays the review service knows about, from booking.confirmed / booking.cancelled (it never
-- reads booking's database). A cancellation is final, whichever event arrives first.
CREATE TABLE stays (
    booking_id uuid PRIMARY KEY,
    user_id    uuid        NOT NULL,
    hotel_id   text        NOT NULL,
    check_in   date        NOT NULL,
    check_out  date        NOT NULL,
    status     text        NOT NULL CHECK (status IN ('CONFIRMED', 'CANCELLED')),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One review per booking. Text is stored as given (plain text, never interpreted as HTML).
CREATE TABLE reviews (
    id          uuid PRIMARY KEY,
    booking_id  uuid        NOT NULL CONSTRAINT reviews_one_per_booking UNIQUE,
    hotel_id    text        NOT NULL,
    user_id     uuid        NOT NULL,
    author_name text        NOT NULL,
    rating      smallint    NOT NULL CHECK (rating BETWEEN 1 AND 5),
    title       text,
    body        text        NOT NULL CHECK (char_length(body) <= 2000),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reviews_newest_by_hotel ON reviews (hotel_id, created_at DESC, id DESC);

-- The running aggregate per hotel; its row lock orders concurrent reviews of one hotel, so
-- each published hotel.rating.updated counts every review committed before it.
CREATE TABLE hotel_ratings (
    hotel_id     text PRIMARY KEY,
    review_count bigint NOT NULL,
    rating_sum   bigint NOT NULL
);
