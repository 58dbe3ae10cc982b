// Mailpit's read API (MAIL_API_URL).
import { expect, request } from "@playwright/test";
import { stack } from "./stack";

interface MessageSummary {
  ID: string;
  Subject: string;
  To: { Address: string }[];
}

/** Wait for an email to `to` whose subject contains `subject`; returns that subject. */
export async function waitForEmail(to: string, subject: string, timeout = 30_000): Promise<string> {
  const api = await request.newContext();
  try {
    let found: string | undefined;
    await expect
      .poll(
        async () => {
          // Search, not the plain list: the list holds only the newest messages of the whole mailbox.
          const r = await api.get(`${stack.mailApiUrl}/api/v1/search`, { params: { query: `to:"${to}"`, limit: 200 } });
          if (!r.ok()) return undefined;
          const body = (await r.json()) as { messages: MessageSummary[] };
          found = body.messages.find((m) => m.To.some((t) => t.Address.toLowerCase() === to.toLowerCase()) && m.Subject.includes(subject))?.Subject;
          return found;
        },
        { message: `an email to ${to} about "${subject}"`, timeout },
      )
      .toBeTruthy();
    return found!;
  } finally {
    await api.dispose();
  }
}
