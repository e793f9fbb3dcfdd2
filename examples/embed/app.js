// The embedding itself: a session for the signed-in user (tokens come from this app's backend),
// an inbox and a chat box. `?user=` picks the demo user; `?conversation=` opens one, and
// `&asGuest=1` opens it as a guest.

const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
const params = new URLSearchParams(location.search);
const userId = params.get('user') || 'alice';
document.getElementById('who').textContent = `Signed in as ${userId}`;

const session = await Huddle.getSession({
  url: meta('huddle-url'),
  appId: meta('huddle-app-id'),
  userId,
  tokenFetcher: async () => (await (await fetch(`/token?userId=${encodeURIComponent(userId)}`)).json()).token,
});

const chatbox = session.createChatbox();
chatbox.mount(document.getElementById('chat'));
const inbox = session.createInbox({ chatbox });
inbox.mount(document.getElementById('inbox'));

const conversation = params.get('conversation');
if (conversation) {
  chatbox.select(session.conversation(conversation), { asGuest: params.has('asGuest') }).catch((e) => console.warn(e.name, e.message));
}

// For the browser tests (and the curious): the live objects.
window.demo = { session, chatbox, inbox, Huddle };
