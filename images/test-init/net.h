/* Network (net.c) and vsock (vsock.c) actions of test-init. */
#ifndef HULL_TEST_INIT_NET_H
#define HULL_TEST_INIT_NET_H

void action_net(void);
void action_net_tcp_send(void);
void action_net_tcp_recv(void);
void action_vsock_echo_server(void);
void action_vsock_client(void);

#endif
