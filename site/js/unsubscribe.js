// Unsubscribe by the token in the mail's link.

import { unsubscribe } from "./api.js";
import { runTokenPage } from "./token-page.js";

runTokenPage("unsubscribe", {
  action: unsubscribe,
  busy: ["Unsubscribing…", "One moment, please."],
  done: ["You are unsubscribed", "You will get no more mails from the MyTodoList blog."],
  failed: "We could not unsubscribe you",
  unknown: [
    "This unsubscribe link is not valid",
    "It may have been cut short by your mail program, or it comes from an older mail: " +
      "use the link at the bottom of your most recent mail from us.",
  ],
  incomplete: [
    "This unsubscribe link is incomplete",
    "It has no token. Open the link from the bottom of one of our mails.",
  ],
});
