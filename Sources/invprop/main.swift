import InvpropCLI

InvpropCommand.main()
