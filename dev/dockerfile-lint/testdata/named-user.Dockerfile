FROM node:22
USER node
ENTRYPOINT ["node", "server.js"]
