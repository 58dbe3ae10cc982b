// The sandbox payment methods a traveller can pick (the payment service maps each token to an
// outcome; no card data ever leaves the browser).
export const PAYMENT_METHODS = [
  { token: "pm_card_visa", label: "Visa — succeeds", hint: "Test card that is always approved." },
  { token: "pm_card_declined", label: "Card declined", hint: "Test card that the bank declines." },
  { token: "pm_card_insufficient_funds", label: "Insufficient funds", hint: "Test card without enough money on it." },
] as const;

export type PaymentMethodToken = (typeof PAYMENT_METHODS)[number]["token"];
