// The official Socket.IO client, refused at connect: prints what it was told (err.message, err.data).
// Usage: node refused_connect.mjs <url> [token]
import { io } from "socket.io-client";

const [url, token] = process.argv.slice(2);
const socket = io(url, { transports: ["websocket"], reconnection: false, auth: token ? { token } : undefined });
const done = (result) => {
  console.log(JSON.stringify(result));
  socket.close();
  process.exit(0);
};
socket.on("connect", () => done({ connected: true }));
socket.on("connect_error", (err) => done({ connected: false, message: err.message, data: err.data ?? null }));
setTimeout(() => done({ connected: false, timeout: true }), 8000);
