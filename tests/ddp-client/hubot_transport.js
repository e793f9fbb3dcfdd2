// Real-client compatibility test for DDP: the exact transport hubot-rocketchat uses
// (@rocket.chat/sdk 0.2 -> asteroid -> ddp.js 0.5.0, which speaks DDP "pre2"), driven the way the
// SDK drives it (reference rocketchat-realtime.md §4). asteroid itself is fetched from GitHub by
// the SDK and cannot be installed here, so its one hard requirement is checked by hand: the
// `added` stream document arrives before `ready`, and before any `changed`.
//
// Environment: HUDDLE_URL (http://host:port), HUDDLE_ADMIN_USERNAME, HUDDLE_ADMIN_PASSWORD.
// Prints "N passed, M failed" and exits non-zero on any failure.
"use strict";

const DDP = require("ddp.js");
const WebSocket = require("ws");

const base = process.env.HUDDLE_URL;
const username = process.env.HUDDLE_ADMIN_USERNAME;
const password = process.env.HUDDLE_ADMIN_PASSWORD;
if (!base || !username || !password) {
  console.error("HUDDLE_URL, HUDDLE_ADMIN_USERNAME and HUDDLE_ADMIN_PASSWORD are required");
  process.exit(2);
}

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed += 1;
    console.log(`ok - ${name}`);
  } else {
    failed += 1;
    console.log(`not ok - ${name}: ${JSON.stringify(detail)}`);
  }
}

const frames = []; // every frame received, in order
const ddp = new DDP({
  endpoint: base.replace(/^http/, "ws") + "/websocket",
  SocketConstructor: WebSocket,
  do_not_autoreconnect: true,
  _ping_interval: 200,
  socketInterceptFunction: (e) => {
    if (e.type === "socket_message_received") frames.push(JSON.parse(e.message));
  },
});
const warnings = [];
console.warn = (...a) => warnings.push(a.join(" ")); // ddp.js warns on non-DDP frames

function call(method, params) {
  return new Promise((resolve, reject) => {
    ddp.method(method, params, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

function sub(name, params) {
  return new Promise((resolve, reject) => {
    const id = ddp.sub(name, params, () => resolve(id), () => reject(new Error("stopped")), (e) => reject(e));
  });
}

function waitFor(pred, ms) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const poll = () => {
      const hit = frames.find(pred);
      if (hit) return resolve(hit);
      if (Date.now() - t0 > ms) return reject(new Error("timeout"));
      setTimeout(poll, 20);
    };
    poll();
  });
}

async function main() {
  await new Promise((resolve, reject) => {
    ddp.on("connected", resolve);
    ddp.on("failed", () => reject(new Error("DDP version refused")));
    ddp.on("socket_error", reject);
  });
  check("connect with version pre2", true);
  check("welcome frame is skipped silently", warnings.length === 0, warnings);

  await sub("meteor.loginServiceConfiguration", []);
  check("meteor.loginServiceConfiguration answers ready", true);

  const login = await call("login", [{ user: { username }, password }]);
  check("login with a plaintext password", typeof login.id === "string" && typeof login.token === "string", login);
  check("tokenExpires is an EJSON date", login.tokenExpires && typeof login.tokenExpires.$date === "number", login);

  const subId = await sub("stream-room-messages", ["__my_messages__", true]);
  const added = frames.findIndex((f) => f.msg === "added" && f.collection === "stream-room-messages");
  const ready = frames.findIndex((f) => f.msg === "ready" && f.subs.includes(subId));
  check("added precedes ready", added >= 0 && added < ready, { added, ready });
  check("added carries the event name", added >= 0 && frames[added].id === "id" && frames[added].fields.eventName === "__my_messages__", frames[added]);

  const rid = await call("getRoomIdByNameOrId", ["general"]);
  check("getRoomIdByNameOrId(general)", rid === "GENERAL", rid);
  await call("joinRoom", [rid]);
  const sent = await call("sendMessage", [{ rid, msg: "hello from ddp.js", bot: { i: "js.SDK" } }]);
  check("sendMessage returns the message", sent && sent.msg === "hello from ddp.js" && typeof sent.ts.$date === "number", sent);

  const ev = await waitFor((f) => f.msg === "changed" && f.fields && f.fields.args && f.fields.args[0].msg === "hello from ddp.js", 5000);
  const [message, meta] = ev.fields.args;
  check("changed on __my_messages__", ev.collection === "stream-room-messages" && ev.id === "id" && ev.fields.eventName === "__my_messages__", ev);
  check("message ts is an EJSON date", typeof message.ts.$date === "number", message);
  check("meta says participant, room type and name", meta.roomParticipant === true && meta.roomType === "c" && meta.roomName === "general", meta);
  const firstChanged = frames.findIndex((f) => f.msg === "changed" && f.collection === "stream-room-messages");
  check("no changed before the stream document", firstChanged > added, { firstChanged, added });

  const name = await call("getRoomNameById", [rid]);
  check("getRoomNameById", name === "general", name);
  await call("setReaction", [":tada:", sent._id]);
  const reacted = await waitFor((f) => f.msg === "changed" && f.fields && f.fields.args && f.fields.args[0]._id === sent._id && f.fields.args[0].reactions, 5000);
  check("a reaction arrives as an updated message", !!reacted.fields.args[0].reactions[":tada:"], reacted.fields.args[0]);

  let error = null;
  try {
    await call("noSuchMethod", []);
  } catch (e) {
    error = e;
  }
  check("unknown method: 404 Meteor error", error && error.error === 404 && error.errorType === "Meteor.Error", error);

  // ddp.js pings every 200 ms here; the server must answer each.
  await new Promise((r) => setTimeout(r, 700));
  check("client pings are answered", frames.some((f) => f.msg === "pong"), null);

  await call("logout", []);
  check("logout", true);
}

main()
  .catch((e) => check("flow completed", false, String(e && e.stack ? e.stack : JSON.stringify(e))))
  .finally(() => {
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  });
