// Confirm a subscription by the token in the confirmation mail's link.

import { confirmSubscription } from "./api.js";
import { runTokenPage } from "./token-page.js";

runTokenPage("confirm", {
  action: confirmSubscription,
  busy: ["Confirming…", "One moment, please."],
  done: [
    "You are subscribed",
    "Thank you. A welcome mail is on its way, and you will get one mail per new post. " +
      "Every mail has a link to unsubscribe.",
  ],
  failed: "We could not confirm your subscription",
  unknown: [
    "This confirmation link has expired or is not valid",
    "Links work for 7 days, and only the one from your most recent mail. " +
      "Subscribe again and we will send you a new one.",
  ],
  incomplete: [
    "This confirmation link is incomplete",
    "It has no token. Open the link in the mail we sent you, or subscribe again.",
  ],
});
