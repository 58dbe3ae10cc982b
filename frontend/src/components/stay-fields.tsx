"use client";
// The four fields of a stay (check-in, check-out, guests, rooms), shared by the search form and
// the hotel page's stay form. Field ids are `<idPrefix>-<name>`, so error summaries can link them.
import { MAX_GUESTS, MAX_ROOMS } from "@/lib/stay-rules";
import { TextField } from "./field";

/** A stay as its inputs hold it. */
export interface StayValues {
  checkIn: string;
  checkOut: string;
  guests: string;
  rooms: string;
}

export function StayFields({
  idPrefix,
  values,
  problems,
  today,
  onChange,
  datesRequired = false,
  dateClassName,
  countClassName,
}: {
  idPrefix: string;
  values: StayValues;
  problems: Record<string, string>;
  today: string;
  onChange: (name: keyof StayValues) => (e: { target: { value: string } }) => void;
  datesRequired?: boolean;
  dateClassName?: string;
  countClassName?: string;
}) {
  return (
    <>
      <TextField
        id={`${idPrefix}-checkIn`}
        name="checkIn"
        type="date"
        label="Check-in"
        min={today}
        required={datesRequired}
        value={values.checkIn}
        onChange={onChange("checkIn")}
        error={problems.checkIn}
        className={dateClassName}
      />
      <TextField
        id={`${idPrefix}-checkOut`}
        name="checkOut"
        type="date"
        label="Check-out"
        min={values.checkIn || today}
        required={datesRequired}
        value={values.checkOut}
        onChange={onChange("checkOut")}
        error={problems.checkOut}
        className={dateClassName}
      />
      <TextField
        id={`${idPrefix}-guests`}
        name="guests"
        type="number"
        inputMode="numeric"
        label="Guests"
        min={1}
        max={MAX_GUESTS}
        value={values.guests}
        onChange={onChange("guests")}
        error={problems.guests}
        className={countClassName}
      />
      <TextField
        id={`${idPrefix}-rooms`}
        name="rooms"
        type="number"
        inputMode="numeric"
        label="Rooms"
        min={1}
        max={MAX_ROOMS}
        value={values.rooms}
        onChange={onChange("rooms")}
        error={problems.rooms}
        className={countClassName}
      />
    </>
  );
}
