// Brings @fastify/swagger's schema augmentation (tags, summary, description on route
// schemas) into the type checker for every route module.
import '@fastify/swagger';
