-- One row per (causing event, channel): the claim that makes a redelivered event send nothing,
-- and the record a user reads through GET /notifications.
--   pending  a send failed transiently; the next delivery of the event may claim it again
--   sending  claimed at `claimed_at`; the message may or may not have left yet
--   sent     the provider accepted it (`sent_at`)
--   failed   the provider refused it for good (`last_error`)
CREATE TABLE notifications (
    id             uuid        PRIMARY KEY,
    user_id        uuid        NOT NULL,
    booking_id     uuid        NOT NULL,
    channel        text        NOT NULL CHECK (channel IN ('email', 'sms')),
    template       text        NOT NULL,
    recipient      text        NOT NULL,
    subject        text,
    body_text      text        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    cause_event_id uuid        NOT NULL,
    attempts       integer     NOT NULL DEFAULT 1,
    claimed_at     timestamptz,
    last_error     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz,
    CONSTRAINT notifications_once_per_event_and_channel UNIQUE (cause_event_id, channel)
);

CREATE INDEX notifications_by_user_newest_first ON notifications (user_id, created_at DESC, id DESC);
