import { stopServers } from './servers.js';

export default stopServers;
